"""Crisis resources shown to a patient at once, whoever is (or is not) on call.

The numbers are the US national services named in PRODUCT.md ("What must be true" 1).
Wording is warm and plain on purpose: someone in crisis reads this, not a clinician.
SAMHSA's National Helpline is a treatment-referral line, not crisis counselling, so it
is listed last and says so; it is never presented as the number to call in a crisis.
"""

from __future__ import annotations

_MESSAGES: dict[str, str] = {
    "en": (
        "It sounds like things are really hard right now, and we're glad you said something. "
        "You don't have to get through this alone. You can reach a real person right now, any time:"
    ),
    "es": (
        "Parece que lo que estás pasando es muy difícil, y nos alegra que lo hayas dicho. "
        "No tienes que pasar por esto a solas. Puedes hablar con una persona ahora mismo, a cualquier hora:"
    ),
}

_RESOURCES: dict[str, list[dict[str, str]]] = {
    "en": [
        {
            "name": "988 Suicide & Crisis Lifeline",
            "contact": "Call or text 988",
            "note": "Free and confidential, 24/7. For Spanish, press 2 or text AYUDA to 988.",
        },
        {
            "name": "Crisis Text Line",
            "contact": "Text HOME to 741741",
            "note": "A trained crisis counselor texts back, 24/7.",
        },
        {
            "name": "Emergency",
            "contact": "Call 911",
            "note": "If you or someone near you is in danger right now.",
        },
        {
            "name": "Poison Help",
            "contact": "Call 1-800-222-1222",
            "note": "If you or someone else may have taken too much of something. If they are hard to wake "
            "or not breathing, call 911 first.",
        },
    ],
    "es": [
        {
            "name": "988 Línea de Prevención del Suicidio y Crisis",
            "contact": "Llama al 988 y marca 2, o envía AYUDA por texto al 988",
            "note": "Gratis y confidencial, las 24 horas. Te atienden en español.",
        },
        {
            "name": "Crisis Text Line",
            "contact": "Envía HOME por texto al 741741",
            "note": "Una persona capacitada te responde, las 24 horas (en inglés; para español, escribe AYUDA al 988).",
        },
        {
            "name": "Emergencias",
            "contact": "Llama al 911",
            "note": "Si tú o alguien cerca de ti está en peligro ahora mismo.",
        },
        {
            "name": "Poison Help (Control de Intoxicaciones)",
            "contact": "Llama al 1-800-222-1222",
            "note": "Si tú u otra persona pudo haber tomado demasiado de algo. Si no despierta o no respira, "
            "llama primero al 911.",
        },
    ],
}

_CLINIC: dict[str, tuple[str, str]] = {
    "en": ("Your clinic's on-call line", "Someone from your program can talk with you."),
    "es": ("Línea de guardia de tu clínica", "Alguien de tu programa puede hablar contigo."),
}

_SAMHSA: dict[str, dict[str, str]] = {
    "en": {
        "name": "SAMHSA National Helpline (treatment referral)",
        "contact": "Call 1-800-662-4357",
        "note": "For finding treatment and support services later. It is not a crisis line: "
        "in a crisis, call or text 988.",
    },
    "es": {
        "name": "Línea Nacional de Ayuda de SAMHSA (referencias a tratamiento)",
        "contact": "Llama al 1-800-662-4357 (tiene opción en español)",
        "note": "Para buscar tratamiento y servicios más adelante. No es una línea de crisis: "
        "en una crisis, llama o envía un texto al 988.",
    },
}


def crisis_resources(language: str, clinic_phone: str | None) -> tuple[str, list[dict[str, str]]]:
    """A supportive message and the crisis contacts, in ``language`` ("en"/"es"; else English).

    The clinic's on-call number, when configured, comes right after 988 so a person from
    the patient's own program is the second option. Returns fresh lists on every call so
    a caller cannot change what the next patient sees.
    """
    lang = language.lower().split("-")[0] if isinstance(language, str) else "en"
    if lang not in _MESSAGES:
        lang = "en"
    resources = [dict(r) for r in _RESOURCES[lang]]
    if clinic_phone and clinic_phone.strip():
        name, note = _CLINIC[lang]
        resources.insert(1, {"name": name, "contact": clinic_phone.strip(), "note": note})
    resources.append(dict(_SAMHSA[lang]))
    return _MESSAGES[lang], resources
