"""`python -m mimolo` is the `mimolo` command."""

from mimolo.cli import main

if __name__ == "__main__":
    main()
