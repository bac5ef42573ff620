"""The `plugboard` command line (Typer + Rich). Heavy modules are imported inside commands so
`plugboard --help` stays fast."""
