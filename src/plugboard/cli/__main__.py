from plugboard.cli.main import run

run()
