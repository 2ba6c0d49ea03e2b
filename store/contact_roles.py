"""The twelve contact roles every account has as groups (SPEC §1 Contact roles = groups)."""

CONTACT_ROLES: dict[str, str] = {
    "Accounting Receiver": "Contact who handles billing questions.",
    "Change Approver": (
        "Contact with authority to approve Change Requests on behalf of your organization."
    ),
    "Clinician Receiver": "Medical professional at your organization.",
    "Default Case Contact": (
        "Contact who should be notified if we open a case on behalf of your organization."
    ),
    "IT Receiver": "Technical professional at your organization.",
    "License Key Receiver": "Contact who would receive keys for any new product licenses.",
    "NG Product Admin Receiver": "Non-clinical staff such as front office employee.",
    "Outage Notification Receiver": (
        "Contact who should be notified if there is an outage impacting your organization."
    ),
    "Purchasing Decision Maker": (
        "Contact who has authority to sign contracts for your organization."
    ),
    "Purchasing Influencer": "Contact who is part of the purchasing process for your organization.",
    "Security Reviewer": (
        "Contact who should be notified if we need to discuss security information for your "
        "organization."
    ),
    "Super User": (
        "Contact who is very knowledgeable on a product (i.e. administrator) for your organization."
    ),
}
