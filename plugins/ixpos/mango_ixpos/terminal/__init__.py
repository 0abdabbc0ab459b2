"""Card terminals: the driver interface, the ECR protocol over TCP, and its client."""
