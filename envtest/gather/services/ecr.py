"""ECR: the digests a repository holds."""

from __future__ import annotations

from envtest.gather.services.base import ABSENT, NOT_FOUND, Reader, call, largest_pages


class EcrReads(Reader):
    def ecr_digests(self, registry_id: str, repository: str) -> list[str] | None:
        """Every image digest in the repository (None when the repository does not exist)."""

        def fetch() -> list[str] | None:
            ecr = self.aws.client("ecr")

            def ids() -> list[dict[str, str]]:
                params = {"registryId": registry_id, "repositoryName": repository}
                pages = ecr.get_paginator("list_images").paginate(
                    **params, **largest_pages("ecr", "list_images", params)
                )
                return [image_id for page in pages for image_id in page["imageIds"]]

            found = call(f"ecr:ListImages {registry_id}/{repository}", ids, NOT_FOUND)
            return None if found is ABSENT else sorted({i["imageDigest"] for i in found if "imageDigest" in i})

        return self._cached(f"ecr.digests:{registry_id}/{repository}", fetch)
