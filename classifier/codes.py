"""The MasterBase catalogue: every code of the vendor's table, its labels and its estado.

Spanish labels and estados are spelled exactly as in the vendor's table (what MasterBase users
see); English labels and the "produced from" column are the product's reading (docs/codes.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["CATALOGUE", "CodeInfo", "all_codes", "lookup_code"]


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """One row of the catalogue."""

    #: The code as MasterBase spells it ("131", "MO", "Retry Fail").
    code: str
    #: The vendor's Spanish label.
    label_es: str
    #: English label.
    label_en: str
    #: The vendor's "Estado" column, verbatim.
    estado: str
    #: True where the vendor's estado says "Reintento": the platform will try again.
    retry: bool
    #: Where the code comes from: SMTP, DSN, DNS, connection, platform, retry policy.
    source: str

    @property
    def final(self) -> bool:
        """A final code is not retried by the platform."""
        return not self.retry


_ROWS: tuple[tuple[str, str, str, str, str], ...] = (
    ("111", "Dominio no existe", "Domain does not exist", "Rebote", "DNS, SMTP/DSN text"),
    (
        "112",
        "Dominio sin MX",
        "Domain has no mail server (no MX, null MX)",
        "Rebote",
        "DNS, SMTP/DSN text",
    ),
    (
        "113",
        "El DNS del dominio no responde",
        "Domain DNS / destination server not responding",
        "Rebote",
        "DNS, connection, SMTP/DSN text",
    ),
    (
        "114",
        "Dominio en lista negra",
        "Domain on blocklist",
        "Rebote",
        "suppression list (platform)",
    ),
    (
        "131",
        "Casilla no existe o rechazada",
        "Mailbox does not exist or rejected",
        "Rebote",
        "SMTP/DSN text",
    ),
    (
        "132",
        "Casilla con problemas",
        "Mailbox has problems (disabled, inactive, suspended, locked)",
        "Rebote",
        "SMTP/DSN text",
    ),
    (
        "133",
        "Rebote post envío",
        "Bounce after sending (gave up after retries)",
        "Rebote",
        "DSN, retry policy",
    ),
    ("134", "Casilla inválida", "Invalid mailbox, no reason given", "Rebote", "SMTP/DSN text"),
    (
        "151",
        "Marca previa como spam",
        "Previously marked as spam by the recipient",
        "Rebote",
        "suppression list (platform)",
    ),
    (
        "152",
        "Bloqueo por términos legales (Indecopi o similares) - Temp",
        "Legal block (Indecopi or similar), legacy",
        "Rebote",
        "platform, legacy: never produced",
    ),
    (
        "153",
        "Unsuscribe vía MasterBase - Temp",
        "Unsubscribe via MasterBase support/abuse report, legacy",
        "Rebote",
        "platform, legacy",
    ),
    (
        "154",
        "Casilla en lista negra",
        "Mailbox on blocklist",
        "Rebote",
        "suppression list (platform)",
    ),
    (
        "161",
        "Desuscripción – Master Unsubscribe®",
        "Unsubscribed via MasterBase link",
        "Rebote",
        "platform",
    ),
    (
        "162",
        "Desuscripción - FeedbackLoop",
        "Unsubscribed: feedback-loop complaint",
        "Rebote",
        "ARF report (RFC 5965)",
    ),
    (
        "163",
        "Desuscripción - List-Unsubscribe",
        "Unsubscribed via List-Unsubscribe",
        "Rebote",
        "List-Unsubscribe request (RFC 2369/8058)",
    ),
    ("164", "Desuscripción - Manual", "Unsubscribed manually", "Rebote", "platform"),
    (
        "181",
        "Denegación - Indecopi",
        "Denied: Indecopi list (Peru), no longer in force",
        "Rebote",
        "platform, legacy: never produced",
    ),
    (
        "182",
        "Denegación - Sernac",
        'Denied: Sernac "No Molestar" list (Chile)',
        "Rebote",
        "platform",
    ),
    (
        "201",
        "Rebote blando (soft bounce) sin descripción",
        "Soft bounce without description",
        "Rebote",
        "SMTP/DSN (4xx with no usable text)",
    ),
    (
        "202",
        "Casilla llena o con problema temporal",
        "Mailbox full or temporary problem",
        "Rebote - Reintento",
        "SMTP/DSN text",
    ),
    ("250", "Mensaje enviado", "Message sent", "Enviado", "SMTP (2xx), DSN delivered"),
    ("301", "Error en proceso MI", "Error in MI process (bad HTML/EML input)", "Error", "platform"),
    ("310", "Error en proceso MP", "Error in MP process", "Error", "platform"),
    (
        "311",
        "Error en proceso EML original",
        "Error processing the original EML",
        "Error - Reintento",
        "platform",
    ),
    (
        "312",
        "Error en proceso de dominio",
        "Error in domain process",
        "Error - Reintento",
        "platform",
    ),
    (
        "313",
        "Error en proceso de casilla",
        "Error in mailbox process",
        "Error - Reintento",
        "platform",
    ),
    ("314", "Error en proceso DKIM", "Error in DKIM process", "Error - Reintento", "platform"),
    (
        "315",
        "Error de proceso EML modificado",
        "Error processing the modified EML",
        "Error - Reintento",
        "platform",
    ),
    (
        "316",
        "Error en proceso de envío",
        "Error in sending process",
        "Error- Reintento",
        "platform",
    ),
    (
        "321",
        "No se pudo obtener el EML modificado",
        "Could not obtain the modified EML",
        "Error",
        "platform",
    ),
    ("421", "Servidor SMTP no disponible", "SMTP server not available", "Error", "SMTP"),
    (
        "500",
        "Servidor no ha podido reconocer uno o varios de los comandos que se enviaron",
        "Command not recognized",
        "Error",
        "SMTP",
    ),
    (
        "501",
        "Intento de envío de un pero hay al menos un error de sintaxis",
        "Syntax error in parameters",
        "Error",
        "SMTP",
    ),
    (
        "502",
        "Característica o comando solicitado al servidor está deshabilitado o no está implementado",
        "Command not implemented",
        "Error",
        "SMTP",
    ),
    (
        "504",
        "Comando contenía otro comando que no se pudo procesar en la misma transacción",
        "Command (parameter) not processable",
        "Error",
        "SMTP",
    ),
    (
        "550",
        "La dirección del destino no existe en el servidor",
        "Destination address does not exist on the server",
        "Rebote",
        "SMTP (fallback)",
    ),
    (
        "551",
        "Destinatario no está albergado localmente en el servidor y el servidor de destino no "
        "permite reenvío a otras direcciones de correo",
        "Recipient not local, no forwarding",
        "Rebote",
        "SMTP",
    ),
    (
        "552",
        "El usuario ha excedido su capacidad de almacenaje de correo",
        "Storage allocation exceeded",
        "Rebote",
        "SMTP",
    ),
    (
        "553",
        "El formato de la dirección indicada es incorrecta o no está bien formateada",
        "Address format incorrect",
        "Error",
        "SMTP",
    ),
    ("554", "Falla de la transacción SMTP", "SMTP transaction failed", "Error", "SMTP"),
    ("MO", "Pendiente de envío", "Pending send", "En proceso", "platform"),
    ("MP", "Pendiente de envío", "Pending send", "En proceso", "platform"),
    ("New", "Pendiente de envío", "Pending send", "En proceso", "platform"),
    ("SM", "Pendiente de Envío", "Pending send", "En proceso", "platform"),
    (
        "Retry Fail",
        "Estados reintentados no exitosos (Estado Final)",
        "Retried states not successful (final)",
        "Error",
        "retry policy",
    ),
)

#: Every code, in the vendor's order, keyed by the code as spelled in the table.
CATALOGUE: dict[str, CodeInfo] = {
    code: CodeInfo(code, es, en, estado, "Reintento" in estado, source)
    for code, es, en, estado, source in _ROWS
}


def lookup_code(code: str | int) -> CodeInfo:
    """Return the catalogue row of ``code``; raises KeyError for a code the vendor lacks."""
    key = str(code).strip()
    info = CATALOGUE.get(key)
    if info is None:
        for candidate in CATALOGUE.values():
            if candidate.code.lower() == key.lower():
                return candidate
        raise KeyError(f"not a MasterBase code: {code!r}")
    return info


def all_codes() -> Iterator[CodeInfo]:
    """Iterate over the catalogue in the vendor's order."""
    return iter(CATALOGUE.values())
