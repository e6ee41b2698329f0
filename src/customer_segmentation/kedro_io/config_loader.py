"""The project's configuration loader: Kedro's ``OmegaConfigLoader``, except that secrets
always come from ``conf/local``.

Kedro reads ``conf/base`` and *one* run environment: ``conf/local`` by default, or the one
``--env`` names. So ``kedro run --env database`` would not see ``conf/local/credentials.yml``,
and the database URL would have to be written into ``conf/database/``, beside configuration
that is committed. :class:`ProjectConfigLoader` reads the credentials of ``conf/local`` in every
environment (under the run environment's own, which win key by key), so secrets have one
git-ignored home whatever the environment. Everything else is loaded as Kedro loads it.
"""

from __future__ import annotations

from typing import Any

from kedro.config import MissingConfigException, OmegaConfigLoader

CREDENTIALS = "credentials"


class ProjectConfigLoader(OmegaConfigLoader):
    """``OmegaConfigLoader`` that also reads ``conf/<default_run_env>``'s credentials when
    another environment runs (settings.py: ``CONFIG_LOADER_CLASS``).
    """

    def _read_raw_config(self, key: str) -> tuple[Any, ...]:
        """Kedro's raw configuration of ``key``; for credentials in an environment other than
        the default one, the default environment's files join the base layer (so the run
        environment's entries override them, and one name in both is no error).
        """
        base_configs, env_configs, base_path, env_path, processed = super()._read_raw_config(key)
        run_env = self.env or self.default_run_env
        if (
            key != CREDENTIALS
            or not self.default_run_env
            or run_env in (self.default_run_env, self.base_env)
        ):
            return base_configs, env_configs, base_path, env_path, processed
        try:
            local_configs = self._read_dir_configs(
                self._get_conf_env_path(self.default_run_env),
                self.config_patterns[key],
                key,
                processed,
                read_environment_variables=True,
            )
        except MissingConfigException:  # no conf/local folder (a fresh copy of the project)
            local_configs = {}
        return {**base_configs, **local_configs}, env_configs, base_path, env_path, processed
