"""ivc: compile concise YAML environment specs into linted AWS CloudFormation."""

__version__ = "0.1.0"
