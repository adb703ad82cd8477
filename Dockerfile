# edi's image: the compiled wheel in a virtual environment, run as a non-root user.
# No key and no configuration inside: EDI_HOME, the configuration and the KEK come from
# volumes and secrets at run time (deploy/compose/compose.yaml). Both RUN lines that make
# edi are deploy/edi-wheel, the commands tests/end_to_end/test_wheel_install.py runs
# (tests/unit/test_deploy_recipes.py checks that no other RUN line installs Python packages).
#   docker build -t edi .

FROM python:3.11-bookworm AS build
COPY . /src
RUN /src/deploy/edi-wheel build /src /wheels

FROM python:3.11-slim-bookworm
ENV PIP_NO_CACHE_DIR=1
# gpg decrypts and verifies partners' files
RUN apt-get update \
 && apt-get install -y --no-install-recommends gnupg \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
COPY deploy/edi-wheel /usr/local/bin/edi-wheel
# with the flows extra (Prefect): the image's containers are the Prefect workers
RUN edi-wheel install /opt/edi /wheels/edi-*.whl flows \
 && rm -rf /wheels
RUN useradd --system --uid 10001 --home-dir /var/lib/edi --create-home --shell /usr/sbin/nologin edi
USER edi
ENV PATH=/opt/edi/bin:$PATH \
    EDI_HOME=/var/lib/edi \
    PREFECT_HOME=/var/lib/edi/prefect \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    DO_NOT_TRACK=1
WORKDIR /var/lib/edi
CMD ["edi", "--version"]
