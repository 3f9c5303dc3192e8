"""Continuous training: a trigger (new data, a schedule, an alert) becomes one retraining pull request.

- the trigger (what started it, and its evidence) is review/trigger.py's: the report opens with it;
- `pull_request`: the one open retrain pull request, found, opened or updated with `gh`;
- `loop`: move the data to what is new, reproduce, commit, push, and open or update the pull request.
"""
