from lead_pipeline.cli import main

raise SystemExit(main())
