"""The case register: models, persistence, the service layer and the command line."""
