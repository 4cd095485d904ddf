"""Human labels: the annotation store, the labelling queue, agreement."""
