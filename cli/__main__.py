from nbpresign.cli.main import main

raise SystemExit(main())
