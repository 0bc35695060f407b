"""The AWS Support API as an account without a support plan sees it (for benchmarks that run
org-formation `init`, which asks every account for its support level).

moto 5.2.5's Support backend has no DescribeSeverityLevels (the emulator would answer
NotImplementedByEmulator). AWS answers an account without a Business, Enterprise On-Ramp or
Enterprise Support plan with SubscriptionRequiredException: "If you call the AWS Support API
from an account that doesn't have a Business, Enterprise On-Ramp, or Enterprise Support plan,
the SubscriptionRequiredException error message appears" (AWS Support API reference,
DescribeSeverityLevels, https://docs.aws.amazon.com/awssupport/latest/APIReference/API_DescribeSeverityLevels.html).
The error is not in the operation's API model, so SDKs raise it as the service's generic
exception (org-formation maps any Support service error to the `basic` plan). HTTP 400, JSON
protocol, with the message AWS sends (as users report it, e.g.
aws-ia/terraform-aws-control_tower_account_factory#446). Every account of the emulator has no
support plan; nothing else of the Support API changes.
"""

from moto.support.responses import SupportResponse

from .errors import AwsError

MESSAGE = "Amazon Web Services Premium Support Subscription is required to use this service."


def describe_severity_levels(self: SupportResponse) -> str:
    raise AwsError("SubscriptionRequiredException", MESSAGE)


def install() -> None:
    SupportResponse.describe_severity_levels = describe_severity_levels
