"""Running the model: cohorts and blocks (:mod:`.runner`), probabilistic sensitivity analysis (:mod:`.psa`),
trajectories on the outcome scales (:mod:`.trajectory`) and atomic output directories (:mod:`.output`)."""
