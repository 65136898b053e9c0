# A minimal s3up image: the static release binary on distroless/static, which
# holds only CA certificates, time zone data and a non-root user (65532,
# "nonroot"). No shell, no package manager.
#
# The build context has the binary at linux/ARCH/s3up, the layout GoReleaser's
# dockers_v2 gives it (.goreleaser.yaml; scripts/release.sh --docker) and the
# one Docker's TARGETPLATFORM names. By hand, after scripts/release.sh:
#
#   mkdir -p ctx/linux/amd64 ctx/linux/arm64
#   cp dist/s3up_linux_amd64_v1/s3up ctx/linux/amd64/
#   cp dist/s3up_linux_arm64_v8.0/s3up ctx/linux/arm64/
#   docker buildx build --platform linux/amd64,linux/arm64 -t s3up:dev -f Dockerfile ctx
#
# Run it with the files to upload and a state directory mounted (see
# docs/install.md):
#
#   docker run --rm -v /srv/backup:/data:ro -v /var/lib/s3up-docker:/state \
#     -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_REGION \
#     s3up:dev put --state-dir /state /data/nightly.tar s3://my-backups/nightly.tar
#
# For reproducible images pin the base by digest:
#   FROM gcr.io/distroless/static-debian12:nonroot@sha256:...
FROM gcr.io/distroless/static-debian12:nonroot

ARG TARGETPLATFORM
COPY --chmod=0755 ${TARGETPLATFORM}/s3up /s3up

LABEL org.opencontainers.image.title="s3up" \
      org.opencontainers.image.description="Upload large files to S3-compatible stores; rerun to resume" \
      org.opencontainers.image.source="https://github.com/s3up/s3up"

# distroless :nonroot already runs as this user; say so for anyone who
# swaps the base image.
USER 65532:65532
ENTRYPOINT ["/s3up"]
CMD ["--help"]
