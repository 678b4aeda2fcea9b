from __future__ import annotations

import pytest

from nbpresign.common.errors import ServiceError
from nbpresign.server.notebooks.site import Site
from nbpresign.server.notebooks.urls import UrlTemplate

SITE = Site("us-east-1", "123456789012", UrlTemplate("http://{name}.localhost", "us-east-1", 8080))


def test_an_instance_arn_names_its_key() -> None:
    assert SITE.instance_key(SITE.arn("MyNb")) == "mynb"
    assert (
        SITE.instance_key("arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/MyNb")
        == "mynb"
    )


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:sagemaker:eu-west-1:123456789012:notebook-instance/nb",  # another region
        "arn:aws:sagemaker:us-east-1:999999999999:notebook-instance/nb",  # another account
        "arn:aws:sagemaker:us-east-1:123456789012:endpoint/nb",  # another resource type
        "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/",
        "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/a/b",
    ],
)
def test_any_other_arn_is_a_validation_error(arn: str) -> None:
    with pytest.raises(ServiceError) as caught:
        SITE.instance_key(arn)
    assert caught.value.code.aws == "ValidationException"
    assert arn in caught.value.message
