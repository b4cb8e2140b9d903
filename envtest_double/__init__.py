"""The local sandbox: one environment replicated on loopback from real parts.

moto in server mode for the AWS APIs, a real squid for the outbound proxy,
local HTTP(S) servers for the names the proxy allows, and each host's files
under DIR/hosts/<role>/. See README.md, "The local sandbox".
"""
