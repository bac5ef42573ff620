"""What a user can do. Each usecase takes the acting principal, checks the permission matrix and
runs as one transaction (a `Unit`)."""
