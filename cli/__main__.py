from nbpresign.cli.main import main

# Guarded: `serve --workers` spawns processes that import this module again.
if __name__ == "__main__":
    raise SystemExit(main())
