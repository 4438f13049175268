"""A run's server, shared by every process of the run: started by a backend (embedded, external, docker),
recorded in the run's folder, holding the templates tests clone."""
