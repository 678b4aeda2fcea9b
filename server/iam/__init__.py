"""IAM-style identities and policies: who the caller is, and what they may do."""
