"""A botocore session that reads a given environment (the run's), never the process's.

Every variable botocore would read from os.environ comes from the session's `environ` through the parameters
botocore offers (gather/aws_environ.py lists them). Clients botocore makes for itself (STS for an assumed role,
a web identity) come through the same create_client, so they read it too.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Mapping
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.configprovider import ConfiguredEndpointProvider
from botocore.credentials import (
    _DEFAULT_ADVISORY_REFRESH_TIMEOUT,
    AssumeRoleProvider,
    AssumeRoleWithWebIdentityProvider,
    BotoProvider,
    CanonicalNameCredentialSourcer,
    ContainerProvider,
    CredentialResolver,
    EnvProvider,
    InstanceMetadataProvider,
    OriginalEC2Provider,
    ProcessProvider,
    ProfileProviderBuilder,
)
from botocore.httpsession import URLLib3Session
from botocore.tokens import ScopedEnvTokenProvider, SSOTokenProvider, TokenProviderChain
from botocore.utils import InstanceMetadataFetcher, create_nested_client, resolve_imds_endpoint_mode

from envtest.gather.aws_environ import config_store, environ_proxies, proxies_for


class _MetadataFetcher(InstanceMetadataFetcher):
    """The instance role's fetcher, its proxies (botocore takes them from os.environ) from the run's."""

    def __init__(self, environ: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(env=dict(environ), **kwargs)
        self._session = URLLib3Session(timeout=self._timeout, proxies=proxies_for(self._base_url, environ))


class _ProfileProviders(ProfileProviderBuilder):
    """botocore's profile-based providers, the two that read the process's environment given the run's."""

    def __init__(self, session: EnvironSession, region_name: str | None, cache: dict[str, Any]) -> None:
        super().__init__(session, cache=cache, region_name=region_name)
        self._run_session, self._run_region, self._run_cache = session, region_name, cache

    def providers(self, profile_name: str, disable_env_vars: bool = False) -> list[Any]:
        session, environ = self._run_session, self._run_session.environ

        def web_identity_config() -> dict[str, Any]:
            # AWS_ROLE_ARN and the rest win over the profile's keys, as botocore's own lookup does.
            config = session.full_config
            names = AssumeRoleWithWebIdentityProvider._CONFIG_TO_ENV_VAR
            found = {key: environ[name] for key, name in names.items() if name in environ}
            if disable_env_vars or not found:
                return config
            profiles = dict(config.get("profiles", {}))
            profiles[profile_name] = {**profiles.get(profile_name, {}), **found}
            return {**config, "profiles": profiles}

        rebuilt = {
            AssumeRoleWithWebIdentityProvider.METHOD: lambda: AssumeRoleWithWebIdentityProvider(
                load_config=web_identity_config,
                client_creator=_client_creator(session, self._run_region),
                cache=self._run_cache,
                profile_name=profile_name,
                disable_env_vars=True,  # read above, from the run's environment
            ),
            ProcessProvider.METHOD: lambda: ProcessProvider(
                profile_name=profile_name,
                load_config=lambda: session.full_config,
                popen=functools.partial(subprocess.Popen, env=dict(environ)),
            ),
        }
        found = super().providers(profile_name=profile_name, disable_env_vars=disable_env_vars)
        return [rebuilt[p.METHOD]() if p.METHOD in rebuilt else p for p in found]


def _client_creator(session: botocore.session.Session, region_name: str | None) -> Any:
    def create(service_name: str, **kwargs: Any) -> Any:
        return create_nested_client(session, service_name, **{"region_name": region_name, **kwargs})

    return create


def _credential_resolver(session: EnvironSession) -> CredentialResolver:
    """credentials.create_credential_resolver, each link given the run's environment.

    The session never sets a profile of its own (AWS_PROFILE comes through the config chain), so the variables'
    credentials stay first, as in botocore's chain.
    """
    environ = session.environ
    region_name = session.get_config_variable("region")
    profile_name = session.get_config_variable("profile") or "default"
    imds_config = {
        "ec2_metadata_service_endpoint": session.get_config_variable("ec2_metadata_service_endpoint"),
        "ec2_metadata_service_endpoint_mode": resolve_imds_endpoint_mode(session),
        "ec2_credential_refresh_window": _DEFAULT_ADVISORY_REFRESH_TIMEOUT,
        "ec2_metadata_v1_disabled": session.get_config_variable("ec2_metadata_v1_disabled"),
    }
    cache: dict[str, Any] = {}
    env_provider = EnvProvider(environ=environ)
    container_provider = ContainerProvider(environ=environ)
    instance_metadata_provider = InstanceMetadataProvider(
        iam_role_fetcher=_MetadataFetcher(
            environ,
            timeout=session.get_config_variable("metadata_service_timeout"),
            num_attempts=session.get_config_variable("metadata_service_num_attempts"),
            user_agent=session.user_agent(),
            config=imds_config,
        )
    )
    profile_providers = _ProfileProviders(session, region_name, cache)
    assume_role_provider = AssumeRoleProvider(
        load_config=lambda: session.full_config,
        client_creator=_client_creator(session, region_name),
        cache=cache,
        profile_name=profile_name,
        credential_sourcer=CanonicalNameCredentialSourcer(
            [env_provider, container_provider, instance_metadata_provider]
        ),
        profile_provider_builder=profile_providers,
    )
    return CredentialResolver(
        providers=[
            env_provider,
            assume_role_provider,
            *profile_providers.providers(profile_name=profile_name),
            OriginalEC2Provider(environ=environ),
            BotoProvider(environ=environ),
            container_provider,
            instance_metadata_provider,
        ]
    )


class EnvironSession(botocore.session.Session):
    """botocore's session, reading `environ` where botocore would read os.environ (see the module's docstring)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        super().__init__()
        self.register_component("config_store", config_store(self, environ))
        self.lazy_register_component("credential_provider", lambda: _credential_resolver(self))
        # tokens.create_token_resolver, its AWS_BEARER_TOKEN_<SERVICE> read from `environ`.
        self.lazy_register_component(
            "token_provider",
            lambda: TokenProviderChain(
                providers=[ScopedEnvTokenProvider(self, environ=environ), SSOTokenProvider(self)]
            ),
        )

    def create_client(self, service_name: str, **kwargs: Any) -> Any:  # type: ignore[override]
        """botocore's, given the endpoint, CA bundle and proxies it would otherwise look up in os.environ."""
        config = kwargs.get("config")
        default = self.get_default_client_config()
        effective = default.merge(config) if default and config else config or default
        if kwargs.get("verify") is None:
            ca_bundle = self.get_config_variable("ca_bundle")  # AWS_CA_BUNDLE, then the profile's ca_bundle
            kwargs["verify"] = ca_bundle if ca_bundle is not None else self.environ.get("REQUESTS_CA_BUNDLE", True)
        chosen: dict[str, Any] = {}
        if kwargs.setdefault("endpoint_url", None) is None:
            if not self._ignores_configured_endpoints(effective):
                kwargs["endpoint_url"] = ConfiguredEndpointProvider(
                    full_config=self.full_config,
                    scoped_config=self.get_scoped_config(),
                    client_name=service_name,
                    environ=self.environ,
                ).provide()
            if kwargs["endpoint_url"] is None:
                chosen["ignore_configured_endpoint_urls"] = True  # looked up above: botocore must not look again
        proxies = environ_proxies(self.environ)
        explicit_proxies = effective is not None and effective.proxies is not None
        if not explicit_proxies:
            url = kwargs["endpoint_url"]
            chosen["proxies"] = proxies_for(url, self.environ) if url else proxies
        kwargs["config"] = (config or Config()).merge(Config(**chosen)) if chosen else config
        client = super().create_client(service_name, **kwargs)
        # The endpoint botocore chose is known only now; NO_PROXY may name it.
        chose = not explicit_proxies and not kwargs["endpoint_url"] and proxies
        if chose and not proxies_for(client.meta.endpoint_url, self.environ):
            kwargs["config"] = kwargs["config"].merge(Config(proxies={}))
            client = super().create_client(service_name, **kwargs)
        return client

    def _ignores_configured_endpoints(self, config: Config | None) -> bool:
        if config is not None and config.ignore_configured_endpoint_urls is not None:
            return bool(config.ignore_configured_endpoint_urls)
        return bool(self.get_config_variable("ignore_configured_endpoint_urls"))
