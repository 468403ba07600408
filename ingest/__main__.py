from ingest.cli import main

if __name__ == "__main__":  # the writer process re-imports this module without running it
    raise SystemExit(main())
