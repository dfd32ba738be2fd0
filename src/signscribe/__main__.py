from signscribe.cli import app

app(prog_name="signscribe")
