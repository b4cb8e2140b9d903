"""python -m envtest.sandbox.instances_endpoint DIR PORT MOTO_ENDPOINT CONFIG.json"""

from envtest.sandbox.instances_endpoint.router import main

main()
