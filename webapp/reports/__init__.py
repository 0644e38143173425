"""Reports against the commune plan's targets: indicators, denominators, figures and
submitted reports (it only reads the other domains)."""
