"""The service catalogue of a partner: service classes (typed, versioned parameters) and products."""
