"""The sandbox's SSM and IAM-simulator endpoint, beside moto (selected with AWS_ENDPOINT_URL_SSM / _IAM).

moto accepts SSM RunCommand but runs nothing, and has no IAM policy
simulator. This endpoint answers those operations for real and passes every
other request to moto unchanged:

- SendCommand, GetCommandInvocation, ListCommandInvocations,
  DescribeInstanceInformation: commands run on the emulated instances of
  fleet/ (AWS-RunShellScript only), with SSM's output limits and statuses;
- SimulatePrincipalPolicy: the role's inline and attached policies as moto
  holds them, plus the resource policy passed in, evaluated with moto's own
  policy-statement matcher (a test double for IAM's simulator: explicit deny
  wins, then any allow, else implicit deny; conditions are not modelled),
  answered in IAM's current shape (ResourceSpecificResults);
- ECR ListImages/DescribeImages with another account's registryId: the
  repository policy checked, then moto asked as that account (moto ignores a
  foreign registryId);
- CloudWatch Logs TestMetricFilter: JSON filter patterns (log_filter.py; moto
  has no TestMetricFilter).

    python -m envtest_double.instances_endpoint DIR PORT MOTO_ENDPOINT CONFIG.json

One module per emulated service (ssm, iam_simulator, ecr, instance_s3), one router.
"""
