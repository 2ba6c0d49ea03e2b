"""SCIM resources the SCIM tests send: the schema URNs, and a user with every attribute."""

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
COMMUNITY = "urn:rollcall:scim:schemas:extension:community:2.0:User"


def rich_body(manager_id: str) -> dict:
    return {
        "schemas": [USER, ENTERPRISE, COMMUNITY],
        "userName": "Rich.Person",
        "externalId": "00u-rich",
        "name": {
            "givenName": "Rich",
            "familyName": "Persön",
            "middleName": "M",
            "honorificPrefix": "Dr.",
            "honorificSuffix": "III",
            "formatted": "Dr. Rich M Persön III",
        },
        "displayName": "Rich P",
        "nickName": "Richie",
        "profileUrl": "https://example.com/rich",
        "title": 'Chief "Quoted" Officer',
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/New_York",
        "active": True,
        "emails": [
            {"value": "rich@example.com", "type": "work", "primary": True, "display": "Rich W"},
            {"value": "rich@home.example", "type": "Home"},
        ],
        "phoneNumbers": [
            {"value": "+1 555 0100", "type": "work", "primary": True},
            {"value": "+1 555 0101", "type": "mobile", "display": "cell"},
        ],
        "addresses": [
            {
                "type": "work",
                "streetAddress": "1 Main St",
                "locality": "Town",
                "region": "CA",
                "postalCode": "90000",
                "country": "US",
                "primary": True,
                "formatted": "1 Main St\nTown",
            }
        ],
        "ims": [{"value": "rich_im", "type": "aim"}],
        "photos": [{"value": "https://example.com/p.jpg", "type": "photo"}],
        "entitlements": [{"value": "e1"}],
        "roles": [{"value": "r1", "primary": True}],
        "x509Certificates": [{"value": "MIIB"}],
        ENTERPRISE: {
            "employeeNumber": "42",
            "costCenter": "cc",
            "organization": "org",
            "division": "div",
            "department": "dep",
            "manager": {"value": manager_id},
        },
        COMMUNITY: {"profile": "client", "preferredContactMethod": "phone"},
    }
