"""What runs the stages: this process (the stage modules themselves) or a Dask cluster (this package).

The only place that knows about Dask. Each stage here is partition-wise work
submitted to the cluster, merged in row order, so what it writes does not depend
on the number of workers or partitions (docs/scale.md).
"""
