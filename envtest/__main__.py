import sys

from envtest.cli import main

sys.exit(main())
