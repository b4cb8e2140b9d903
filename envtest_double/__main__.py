import gc
import sys

from envtest_double.cli import main

code = main()
gc.freeze()  # as envtest/__main__.py: the interpreter's last collections skip botocore's models
sys.exit(code)
