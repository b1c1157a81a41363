import matplotlib

# The explorers draw on Agg figures of their own; this keeps any stray pyplot use headless too.
matplotlib.use("Agg")
