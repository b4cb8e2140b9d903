"""Not collected by the self-tests: a check that writes to AWS, run on purpose to prove the guard refuses it."""


def test_writes_a_tag(aws) -> None:
    aws.client("s3").put_object(Bucket="login-gov.secrets.123456789012-us-west-2", Key="x", Body=b"x")
