"""python -m envtest_double.instances_endpoint DIR PORT MOTO_ENDPOINT CONFIG.json"""

from envtest_double.instances_endpoint.router import main

main()
