# syntax=docker/dockerfile:1.7.1@sha256:a57df69d0ea827fb7266491f2813635de6f17269be881f696fbfdf2d83dda33e
# The frontend parses this file with the build's context and mounts in reach, so it is pinned like the base:
# that digest is docker/dockerfile:1.7.1 as Docker's official-images repository pinned it (its
# .external-pins/docker/dockerfile___1, commit fdbc5d47bd of 2024-04-25; pull request 16673, "1.7.0 -> 1.7.1").
# It is kept, not dropped, for RUN --mount below: without it the builder's own built-in frontend decides.
# The env_test image: runs this suite on <env>-env-runner after each deploy
# (and nightly). Built with no package index: every wheel comes from
# vendor_wheels/ and is checked against the hashes in requirements/runtime.txt.
#
#   docker build -f docker/env_test.Dockerfile --build-arg ENVTEST_GIT_SHA=$(git rev-parse --short=12 HEAD) .
#
# The env runner disables entrypoint overrides: GitLab starts this image with
# its own entrypoint and hands it the job's shell, which run_tests.sh execs.
FROM python:3.11-slim-bookworm@sha256:0a310eeecf4e1f5a0743f9a6520c90c88d089c903ca5fd283f501e3a805f5f89

ARG ENVTEST_GIT_SHA=unknown
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ENVTEST_PYTHON=/opt/envtest/venv/bin/python \
    ENVTEST_GIT_SHA=${ENVTEST_GIT_SHA}

WORKDIR /opt/envtest
COPY requirements/runtime.txt requirements/runtime.txt
# The wheels are mounted for this one step, not copied: they never become a layer.
RUN --mount=type=bind,source=vendor_wheels,target=/tmp/vendor_wheels \
    python -m venv /opt/envtest/venv \
    && /opt/envtest/venv/bin/pip install --no-index --find-links /tmp/vendor_wheels --require-hashes --no-cache-dir -r requirements/runtime.txt

COPY run_tests.sh conftest.py pytest.ini ./
COPY envtest/ envtest/
COPY tests/ tests/
COPY policy/ policy/
# The product's bytecode, made once here: a run neither writes it (PYTHONDONTWRITEBYTECODE, a user who may not write
# /opt/envtest) nor would keep it (each job starts a fresh container), so without it every run compiled envtest/
# from source before its first AWS call. pytest rewrites tests/ and its plugins itself, as it must.
RUN /opt/envtest/venv/bin/python -m compileall -q envtest
RUN useradd --system --no-log-init --uid 10001 --home-dir /opt/envtest --shell /usr/sbin/nologin envtest \
    && install -d -o 10001 -g 10001 /var/lib/envtest

# Reports go to report/ under the working directory (-j is relative to it): one the suite's user may write,
# so `docker run <image> dev` keeps its report. A GitLab job runs in its own project directory instead.
WORKDIR /var/lib/envtest
USER 10001
ENTRYPOINT ["/opt/envtest/run_tests.sh"]
CMD ["-h"]
