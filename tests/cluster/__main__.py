import sys

from tests.cluster.harness import main

sys.exit(main())
