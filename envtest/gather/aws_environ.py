"""botocore's environment variables, read from a given mapping rather than os.environ.

The command line's run has its own environment (the caller's, then -f, -v and the flags); its preflight and
early host reads make AWS calls from the command line's process, whose os.environ is the caller's. botocore
takes most of its variables through parameters (gather/aws_session.py passes them all):

- its config chain (ConfigChainFactory's `environ`, config_store below): AWS_PROFILE, AWS_CONFIG_FILE,
  AWS_SHARED_CREDENTIALS_FILE, AWS_CA_BUNDLE, AWS_MAX_ATTEMPTS, AWS_RETRY_MODE, AWS_DEFAULTS_MODE,
  AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, the instance metadata's settings, ...;
- each client's endpoint (ConfiguredEndpointProvider's `environ`): AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>;
- each client's `verify` (REQUESTS_CA_BUNDLE) and `proxies` (HTTP(S)_PROXY, NO_PROXY, as urllib reads them);
- the credential chain, link by link: AWS_ACCESS_KEY_ID and the rest, the container's and the instance
  metadata's variables, web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE), a credential_process's
  environment; and the bearer tokens' AWS_BEARER_TOKEN_<SERVICE>.

What botocore reads only from os.environ is READ_FROM_THE_PROCESS.
"""

from __future__ import annotations

import os
import socket
import threading
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

import botocore.session
from botocore.configprovider import (
    BOTOCORE_DEFAUT_SESSION_VARIABLES,
    DEFAULT_PROXIES_CONFIG_VARS,
    DEFAULT_S3_CONFIG_VARS,
    ConfigChainFactory,
    ConfigValueStore,
    SectionConfigProvider,
)

# botocore 1.44 reads these from os.environ itself, with no parameter to hand it another value: the
# User-Agent's exec-env, a TLS key log, experimental switches, Lambda's recursion header, the login cache, and
# HOME for the "~" in its default file paths. (Also, left to the process: whether a bearer-token service, which
# this suite never calls, prefers its AWS_BEARER_TOKEN_<SERVICE>; AWS_DEFAULTS_MODE=auto's own region lookup,
# which only moves timeouts the clients set anyway.)
# Some are read at each request, so the one way to give them the run's value is in os.environ, for the run:
# botocore_reads_from_the_process sets those (and only those) whose run value differs, and restores them.
READ_FROM_THE_PROCESS = (
    "AWS_EXECUTION_ENV",
    "SSLKEYLOGFILE",
    "BOTO_EXPERIMENTAL__ADD_PROXY_HOST_HEADER",
    "BOTO_EXPERIMENTAL__NO_EMPTY_CONTINUE",
    "BOTOCORE_EXPERIMENTAL__PLUGINS",
    "AWS_LAMBDA_FUNCTION_NAME",
    "_X_AMZN_TRACE_ID",
    "AWS_LOGIN_CACHE_DIRECTORY",
    "HOME",
)
_process_lock = threading.Lock()


@contextmanager
def botocore_reads_from_the_process(environ: Mapping[str, str]) -> Iterator[None]:
    """Within this block, os.environ holds the run's value of each READ_FROM_THE_PROCESS variable that differs.

    Nothing else in os.environ changes; when none differs (the usual case) nothing changes at all.
    """
    differ = [name for name in READ_FROM_THE_PROCESS if environ.get(name) != os.environ.get(name)]
    if not differ:
        yield
        return
    with _process_lock:
        saved = {name: os.environ.get(name) for name in differ}
        for name in differ:
            _set(name, environ.get(name))
    try:
        yield
    finally:
        with _process_lock:
            for name, value in saved.items():
                _set(name, value)


def _set(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def environ_proxies(environ: Mapping[str, str]) -> dict[str, str]:
    """urllib.request.getproxies_environment, on a given mapping: lower-case names win, and a CGI request's
    HTTP_PROXY is ignored (CVE-2016-1000110)."""
    proxies = {}
    for name, value in environ.items():
        lowered = name.lower()
        if value and lowered[-6:] == "_proxy":
            proxies[lowered[:-6]] = value
    if "REQUEST_METHOD" in environ:
        proxies.pop("http", None)
    for name, value in environ.items():
        if name[-6:] == "_proxy":
            lowered = name.lower()
            if value:
                proxies[lowered[:-6]] = value
            else:
                proxies.pop(lowered[:-6], None)
    return proxies


def proxies_for(url: str, environ: Mapping[str, str]) -> dict[str, str]:
    """botocore.utils.get_environ_proxies on a given mapping: none for a host NO_PROXY names, else them all."""
    proxies = environ_proxies(environ)
    try:
        if proxies and urllib.request.proxy_bypass_environment(urlparse(url).netloc, proxies):
            return {}
    except (TypeError, socket.gaierror):
        pass
    return proxies


def config_store(session: botocore.session.Session, environ: Mapping[str, str]) -> ConfigValueStore:
    """configprovider.create_botocore_default_config_mapping, its variables read from `environ`."""
    chains = ConfigChainFactory(session=session, environ=environ)

    def mapping(variables: dict[str, tuple[Any, ...]]) -> dict[str, Any]:
        return {
            name: chains.create_config_chain(
                instance_name=name,
                env_var_names=env_var,
                config_property_names=config_name,
                default=default,
                conversion_func=convert,
            )
            for name, (config_name, env_var, default, convert) in variables.items()
        }

    store = mapping(BOTOCORE_DEFAUT_SESSION_VARIABLES)
    store["s3"] = SectionConfigProvider("s3", session, mapping(DEFAULT_S3_CONFIG_VARS))
    store["proxies_config"] = SectionConfigProvider("proxies_config", session, mapping(DEFAULT_PROXIES_CONFIG_VARS))
    return ConfigValueStore(mapping=store)
