"""Normalized records: what the parsers make of 834, 835 and 837 transaction sets.

The classes name every field a record can hold; the field maps in ``maps/fields/``
say which X12 element fills which field. ``CLASSES`` is the registry the maps name
classes from; a map names :class:`Person` or :class:`Organization` for a party, by its
role (a bare ``Party`` is a person). Each field's declaration (PHI or not, kind, plain
column, blind indexes) is in :mod:`edi.records.base`'s terms, on the class.
"""

from __future__ import annotations

from edi.records.base import (
    Adjustment,
    Contact,
    Diagnosis,
    Organization,
    Party,
    Person,
    QualifiedAmount,
    Record,
    Reference,
    Source,
)
from edi.records.claims import (
    Claim,
    ClaimHeader,
    Form,
    FormAnswer,
    LineAdjudication,
    OtherSubscriber,
    Patient,
    PayerAuthorization,
    ServiceLine,
    Subscriber,
    Tooth,
)
from edi.records.enrollment import (
    Coverage,
    Disability,
    Enrollment,
    Member,
    OtherCoverage,
    Provider,
    ReportingCategory,
)
from edi.records.premiums import PremiumAdjustment, PremiumDetail, PremiumPayment, PremiumRemittance
from edi.records.remittance import ClaimPayment, Payment, ProviderAdjustment, ServicePayment

#: every class a field map may name
CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Adjustment,
        Claim,
        ClaimHeader,
        ClaimPayment,
        Contact,
        Coverage,
        Diagnosis,
        Disability,
        Enrollment,
        Form,
        FormAnswer,
        LineAdjudication,
        Member,
        OtherCoverage,
        Organization,
        OtherSubscriber,
        Party,
        Patient,
        PayerAuthorization,
        Person,
        Payment,
        PremiumAdjustment,
        PremiumDetail,
        PremiumPayment,
        PremiumRemittance,
        Provider,
        ProviderAdjustment,
        QualifiedAmount,
        Reference,
        ReportingCategory,
        ServiceLine,
        ServicePayment,
        Subscriber,
        Tooth,
    )
}
#: record type name -> class
RECORD_TYPES: dict[str, type[Record]] = {
    cls.TYPE: cls for cls in CLASSES.values() if isinstance(cls, type) and issubclass(cls, Record)
}

__all__ = [
    "CLASSES",
    "RECORD_TYPES",
    "Adjustment",
    "Claim",
    "ClaimHeader",
    "ClaimPayment",
    "Contact",
    "Coverage",
    "Diagnosis",
    "Disability",
    "Enrollment",
    "Form",
    "FormAnswer",
    "LineAdjudication",
    "Member",
    "OtherCoverage",
    "Organization",
    "OtherSubscriber",
    "Party",
    "Patient",
    "PayerAuthorization",
    "Person",
    "Payment",
    "PremiumAdjustment",
    "PremiumDetail",
    "PremiumPayment",
    "PremiumRemittance",
    "Provider",
    "ProviderAdjustment",
    "QualifiedAmount",
    "Record",
    "Reference",
    "ReportingCategory",
    "ServiceLine",
    "ServicePayment",
    "Source",
    "Subscriber",
    "Tooth",
]
