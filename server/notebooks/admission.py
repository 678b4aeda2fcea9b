"""Admission: may this principal, from this address, reach this notebook now?

One decision for every way into a notebook: redeeming a URL, each proxied request, and the
re-check of open WebSockets. It asks the authorizer the API's calls go through, for the
action and resource of minting the URL (sagemaker:CreatePresignedNotebookInstanceUrl on the
instance's ARN, read from the method table), on the caller's CallContext (the browser's
address as aws:SourceIp):

    1. the access key that signed the minting call still exists, active, the user's own
    2. the principal's policies (their own and their groups') allow that action on the
       instance, from there, now, with the principal's and the instance's tags as they are
    3. the instance exists, is InService, and is the incarnation the URL or session was
       made for (a stop, a delete and a new register, a repoint each start a new one)

A refusal is the API's own error (UnrecognizedClientException, AccessDeniedException,
ValidationException RecordNotFound or a wrong status); the proxy turns it into a page.
"""

from __future__ import annotations

from nbpresign.common import errors
from nbpresign.server.api.authorization import Authorizer, resource_arn
from nbpresign.server.api.context import CallContext
from nbpresign.server.api.methods import method_named
from nbpresign.server.notebooks.instance import IN_SERVICE, NotebookInstance
from nbpresign.server.notebooks.site import Site
from nbpresign.server.storage import Storage

# Reaching a notebook is authorized as minting its URL: the policy that lets a principal
# mint it is the one that lets the URL work (AWS: "enforced for every HTTP request").
ADMITTED_AS = method_named("CreatePresignedNotebookInstanceUrl")


class Admission:
    def __init__(self, storage: Storage, authorizer: Authorizer, site: Site) -> None:
        self._storage = storage
        self._authorizer = authorizer
        self._site = site

    async def admit(
        self, ctx: CallContext, instance_key: str, incarnation: str
    ) -> NotebookInstance:
        """The instance, if ctx.principal may reach it now; raises ServiceError if not."""
        if ctx.principal is None:
            raise errors.MISSING_AUTHENTICATION("Missing Authentication Token")
        await self._authorizer.check_key(ctx.principal)
        request = ADMITTED_AS.input_type(notebook_instance_name=instance_key)
        resource = resource_arn(self._site, ADMITTED_AS, request)
        await self._authorizer.check(
            ctx.principal, ADMITTED_AS.action, resource, ctx, instance_key=instance_key
        )
        instance = await self._storage.get_instance(instance_key)
        if instance is None:
            raise errors.RECORD_NOT_FOUND("RecordNotFound")
        if instance.status != IN_SERVICE:
            raise errors.WRONG_STATUS(
                f"Notebook Instance {self._site.arn(instance.name)} is in status "
                f"{instance.status}, not {IN_SERVICE}."
            )
        if instance.incarnation != incarnation:
            raise errors.EXPIRED_TOKEN(
                "The notebook instance was stopped, deleted or changed since this session began."
            )
        return instance
