import gc
import sys

from envtest.cli import main

code = main()
# The process ends next: its objects frozen, the interpreter's last collections skip them (0.1 s with boto3 loaded).
gc.freeze()
sys.exit(code)
