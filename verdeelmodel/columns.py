"""What every column of every result table means: its Dutch header, its unit and a description.

CSV files keep the stable snake_case names (machines read them); the results workbook, the
report and the Toelichting sheet take headers, number formats and descriptions from here, so there
is one list, and a test checks that every column the commands write is in it. A column may be
described for all tables (``COMMON``) or for one table (``BY_TABLE``, which wins); columns whose
name carries a rule or pool name (``comparison``) are matched by ``PATTERNS``.

Units: ``eur`` euros, ``eur_inh`` euros per inhabitant, ``share`` a fraction shown as a
percentage, ``ratio`` a plain ratio, ``price`` euros of one stage per euro of a rule, ``count``,
``year``, ``bool`` (ja/nee) and ``text``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = ("eur", "eur_inh", "share", "ratio", "price", "count", "year", "bool", "text")


@dataclass(frozen=True)
class Column:
    nl: str  # header a person reads
    unit: str
    description: str  # in Dutch: the Toelichting


C = Column
COMMON: dict[str, Column] = {
    "gemeente": C("Gemeente", "text", "De gemeente."),
    "region": C("Regio", "text", "De regio (jeugdzorgregio of samenwerkingsverband) waarin de gemeente inkoopt en risico's deelt."),
    "domain": C("Domein", "text", "Het budgetdomein: jeugd of Wmo."),
    "population": C("Populatie", "text", "Gebied of doelgroep binnen de gemeente waarvoor budget wordt verdeeld."),
    "lot": C("Perceel", "text", "Het perceel (de ingekochte zorgvorm), zoals in lots.csv."),
    "label": C("Omschrijving", "text", "De naam van het perceel of de regel zoals het instance-bestand die geeft."),
    "year": C("Jaar", "year", "Het begrotings- of ramingsjaar."),
    "pool": C("Pool", "text", "De risicoverevening (pool) waarin percelen samen worden gedragen."),
    "rule": C("Verdeelregel", "text", "De verdeelregel van de risicoverevening (pooling_rules.csv)."),
    "rule_set": C("Regelset", "text", "profijt, de afgesproken regels (agreed) of een kandidaat-regel voor alle pools."),
    "provider": C("Aanbieder", "text", "De zorgaanbieder met een contract op het perceel."),
    "area": C("Gebied", "text", "Het contractgebied: een regio of een gemeente."),
    "statutory": C("Wettelijk", "bool", "Ja: individuele voorziening met een wettelijke aanspraak (Jeugdwet, Wmo 2015); altijd geleverd."),
    "inhabitants": C("Inwoners", "count", "Aantal inwoners van de gemeente."),
    "confidence": C("Zekerheid", "share", "Het zekerheidsniveau van het risico (90% zoals NARIS)."),
    "measure": C("Maat", "text", "var: het risico als Value at Risk (NARIS); cvar: het gemiddelde van de slechtste jaren."),
    "amount_eur": C("Budget", "eur", "Het toegewezen budget."),
    "need_eur": C("Behoefte", "eur", "De verwachte zorgbehoefte: volume × tarief."),
    "budget_eur": C("Budget", "eur", "Het budget: aandeel in de integratie-uitkering plus eigen middelen."),
    "allocated_eur": C("Toegewezen", "eur", "Wat het model aan zorg toewijst (wettelijke zorg altijd volledig)."),
    "headroom_eur": C(
        "Ruimte", "eur", "Budget dat niet nodig is: het blijft over (budgetten verschuiven niet tussen gemeenten of domeinen)."
    ),
    "tekort_eur": C("Tekort", "eur", "Wat het budget niet kan dragen: uit algemene middelen of reserves te betalen."),
    "plafondoverschrijding_eur": C(
        "Plafondoverschrijding",
        "eur",
        "Zorg boven een contractplafond op wettelijke zorg: het bedrag dat de contracten moeten worden opgehoogd.",
    ),
    "expected_cost_eur": C(
        "Verwachte kosten", "eur", "De verwachte kosten van de zorg (gemiddelde over de scenario's of volume × tarief)."
    ),
    "expected_pay_eur": C("Verwachte betaling", "eur", "Wat de gemeente(n) naar verwachting betalen."),
    "reserve_eur": C("Benodigde reserve", "eur", "CVaR 90% van de betaling min het gemiddelde: het risico dat de reserve moet opvangen."),
    "charge_eur": C("Bijdrage", "eur", "Wat de gemeente onder de verdeelregel betaalt."),
    "profijt_eur": C("Eigen gebruik", "eur", "Wat de gemeente zou betalen als ieder het eigen gebruik betaalt (profijt)."),
    "transfer_eur": C("Verevening", "eur", "Bijdrage min eigen gebruik: positief betaalt de gemeente mee, negatief ontvangt zij."),
    "cost_of_capital": C(
        "Kapitaalkosten", "ratio", "Wat een euro reserve per jaar kost (risicoaversie): 0 = alleen de verwachte kosten tellen."
    ),
    "scenarios": C("Scenario's", "text", "In-sample: de scenario's van de keuze; out of sample: verse scenario's (ander zaad)."),
    "forms": C("Contractvormen", "text", "De gekozen vorm per perceel en gebied (perceel@gebied=vorm)."),
    "members": C("Leden", "text", "De gemeenten van de coalitie."),
    "size": C("Omvang", "count", "Het aantal gemeenten."),
    "method": C("Methode", "text", "Hoe de coalitie is gevonden: volledig doorzocht of met een MIP."),
}

BY_TABLE: dict[str, dict[str, Column]] = {
    "allocation": {
        "substituted_out_eur": C("Gesubstitueerd (weg)", "eur", "Behoefte die naar een lichter perceel verschuift."),
        "substituted_in_eur": C("Gesubstitueerd (erbij)", "eur", "Behoefte die van een zwaarder perceel hierheen komt."),
        "unmet_eur": C("Niet gefinancierd", "eur", "Niet-wettelijke behoefte (preventie, algemene voorziening) die geen budget krijgt."),
        "above_need_eur": C("Boven behoefte", "eur", "Budget boven de behoefte (alleen waar een minimum of garantie dat afdwingt)."),
    },
    "substitutions": {
        "from_lot": C("Van perceel", "text", "Het zwaardere perceel waar behoefte wegvloeit."),
        "to_lot": C("Naar perceel", "text", "Het lichtere perceel dat de zorg overneemt."),
        "ratio": C("Verhouding", "ratio", "Een euro in het lichtere perceel vervangt zoveel euro zwaardere zorg."),
        "moved_need_eur": C("Verschoven behoefte", "eur", "Behoefte die uit het zware perceel verdwijnt."),
        "added_need_eur": C("Toegevoegde behoefte", "eur", "Wat het lichtere perceel daarvoor extra nodig heeft."),
    },
    "provider_budgets": {},
    "budgets": {},
    "constraints": {
        "name": C("Regel", "text", "De naam van de bedrijfsregel (plafond, minimum, budget, doel)."),
        "family": C("Familie", "text", "De groep regels waartoe hij behoort (models/manifest.py)."),
        "kind": C("Soort", "text", "Budget, plafond, minimum, doel of modelregel."),
        "index": C("Index", "text", "Waar de regel voor geldt (gemeente, perceel, aanbieder ...)."),
        "activity_eur": C("Waarde", "eur", "De waarde van de regel in de oplossing."),
        "lower_eur": C("Ondergrens", "eur", "De ondergrens van de regel."),
        "upper_eur": C("Bovengrens", "eur", "De bovengrens van de regel."),
        "slack_eur": C("Speling", "eur", "Hoe ver de waarde van de dichtstbijzijnde grens ligt."),
        "overrun_eur": C("Overschrijding", "eur", "Hoeveel de grens wordt overschreden (plafond op wettelijke zorg)."),
        "binding": C("Bindend", "bool", "Ja: de regel bepaalt de uitkomst."),
        "shadow_price_tekort": C("Schaduwprijs tekort", "price", "Hoeveel euro tekort één euro meer ruimte in deze regel scheelt."),
        "shadow_price_plafondoverschrijding": C(
            "Schaduwprijs plafondoverschrijding", "price", "Hoeveel euro plafondoverschrijding één euro meer ruimte scheelt."
        ),
        "shadow_price_unmet": C(
            "Schaduwprijs onvervulde behoefte", "price", "Hoeveel gewogen onvervulde behoefte één euro meer ruimte scheelt."
        ),
        "shadow_price_deviation": C(
            "Schaduwprijs afwijking", "price", "Hoeveel afwijking van het verdeelmodel één euro meer ruimte scheelt."
        ),
        "shadow_price_eur": C("Schaduwprijs", "price", "De schaduwprijs in de fase waar de regel ertoe doet."),
        "shadow_price_stage": C("Fase", "text", "De fase van de doelstelling waarin de schaduwprijs geldt."),
        "shadow_price_unit": C("Eenheid", "text", "De eenheid van de schaduwprijs."),
    },
    "reference": {
        "maatstaf_sum_eur": C("Maatstaven × bedragen", "eur", "De som van maatstaf × bedrag per eenheid (objectief verdeelmodel)."),
        "uitkeringsfactor": C("Uitkeringsfactor", "ratio", "Schaalt de maatstaven naar het beschikbare totaal."),
        "objective_eur": C("Objectief", "eur", "Het objectieve aandeel volgens het verdeelmodel."),
        "historical_eur": C("Historisch", "eur", "De historische uitgaven."),
        "historical_scaled_eur": C("Historisch geschaald", "eur", "De historische uitgaven geschaald naar het totaal."),
        "blended_eur": C("Gemengd", "eur", "Objectief en historisch gemengd volgens het ingroeipad."),
        "ingroeipad_cap_eur": C("Ingroeipad-grens", "eur", "De grens die het ingroeipad stelt aan de verandering."),
        "reference_eur": C("Referentie", "eur", "De referentieverdeling waar het model dicht bij blijft."),
        "deviation_eur": C("Afwijking", "eur", "Toegewezen min referentie."),
    },
    "pooling": {},
    "settlement": {
        "payout_eur": C("Uitkering", "eur", "Wat de pool de gemeente uitkeert (hoge-kostenpool, fonds)."),
        "contribution_eur": C("Inleg", "eur", "Wat de gemeente in de pool stort."),
        "charge_per_inhabitant_eur": C("Bijdrage per inwoner", "eur_inh", "De bijdrage gedeeld door het aantal inwoners."),
        "transfer_per_inhabitant_eur": C("Verevening per inwoner", "eur_inh", "De verevening gedeeld door het aantal inwoners."),
        "region_pooled_eur": C("Gepoold in de regio", "eur", "De totale kosten die de regio in deze pool deelt."),
    },
    "comparison": {"profijt_eur": C("Eigen gebruik (profijt)", "eur", "De bijdrage als ieder het eigen gebruik betaalt.")},
    "reserves": {
        "budget_eur": C("Budget", "eur", "Het budget van de gemeente voor de gepoolde en eigen percelen."),
        "plan_charge_eur": C("Lasten plan", "eur", "Wat de gemeente in het plan betaalt onder de regelset."),
        "plan_tekort_eur": C("Tekort plan", "eur", "Het tekort van het plan zelf."),
        "expected_tekort_eur": C("Verwacht tekort", "eur", "Het gemiddelde tekort over de scenario's: structureel, hoort in de begroting."),
        "expected_tekort_se_eur": C("Standaardfout verwacht tekort", "eur", "De Monte-Carlo-onzekerheid van het verwachte tekort."),
        "risk_var_eur": C("Risico (VaR)", "eur", "Het tekort boven het verwachte dat in 90% van de jaren niet wordt overschreden."),
        "risk_var_se_eur": C("Standaardfout VaR", "eur", "De Monte-Carlo-onzekerheid van de VaR."),
        "risk_cvar_eur": C("Risico (CVaR)", "eur", "Het gemiddelde tekort boven het verwachte in de slechtste 10% van de jaren."),
        "risk_cvar_se_eur": C("Standaardfout CVaR", "eur", "De Monte-Carlo-onzekerheid van de CVaR."),
        "risk_eur": C("Risico", "eur", "Het risico in de gekozen maat (VaR standaard, zoals NARIS)."),
        "risk_se_eur": C("Standaardfout risico", "eur", "De Monte-Carlo-onzekerheid van het risico."),
        "other_risks_eur": C("Overige risico's", "eur", "De overige risico's van de gemeente (risks.csv) op hetzelfde niveau."),
        "whole_risk_eur": C("Totaal risicoprofiel", "eur", "Sociaal-domeinrisico en overige risico's samen."),
        "whole_risk_se_eur": C("Standaardfout totaal risico", "eur", "De Monte-Carlo-onzekerheid van het totale risico."),
        "social_share": C("Aandeel sociaal domein", "share", "Het deel van het totale risico dat uit het sociaal domein komt."),
        "weerstandscapaciteit_eur": C("Weerstandscapaciteit", "eur", "De totale beschikbare weerstandscapaciteit van de gemeente."),
        "ratio": C("Ratio weerstandsvermogen", "ratio", "Weerstandscapaciteit gedeeld door het totale risico."),
        "ratio_se": C("Standaardfout ratio", "ratio", "De Monte-Carlo-onzekerheid van de ratio."),
        "rating": C("Waardering", "text", "De waardering A–F volgens de NARIS-tabel."),
        "rating_label": C("Betekenis", "text", "De betekenis van de waardering (uitstekend ... ruim onvoldoende)."),
        "near_band_edge": C("Dicht bij grens", "bool", "Ja: de ratio ligt binnen 2 standaardfouten van een klassegrens."),
        "rating_basis": C(
            "Grondslag waardering", "text", "Waarop de waardering berust: het hele profiel of geen (geen capaciteit bekend)."
        ),
        "available_reserve_eur": C("Reserve sociaal domein", "eur", "De voor het sociaal domein geoormerkte reserve."),
        "ratio_social_domain": C("Ratio sociaal domein", "ratio", "De reserve sociaal domein gedeeld door het sociaal-domeinrisico."),
        "pooling_benefit_eur": C(
            "Voordeel verevening", "eur", "Risico onder profijt min risico onder de regel: wat de verevening de gemeente scheelt."
        ),
    },
    "fairness": {
        "stand_alone_eur": C("Alleen", "eur", "Wat de gemeente alleen nodig zou hebben (verwachte kosten plus kapitaal voor het risico)."),
        "rule_split_eur": C("Onder de regel", "eur", "Het deel van de gezamenlijke kosten dat de regel de gemeente toerekent."),
        "rule_own_eur": C("Eigen deel onder de regel", "eur", "De verwachte bijdrage onder de regel."),
        "euler_eur": C("Euler-toerekening", "eur", "De bijdrage van de gemeente aan het gezamenlijke risico (Euler)."),
        "shapley_eur": C("Shapley-waarde", "eur", "De gemiddelde marginale bijdrage over alle volgordes van toetreden."),
        "shapley_se_eur": C("Standaardfout Shapley", "eur", "De steekproefonzekerheid van de Shapley-waarde."),
        "nucleolus_eur": C("Nucleolus", "eur", "De verdeling die de meest benadeelde coalitie zo goed mogelijk bedient."),
        "gain_vs_alone_eur": C("Winst t.o.v. alleen", "eur", "Alleen min onder de regel: positief wint de gemeente bij samenwerking."),
        "in_core": C("In de kern", "bool", "Ja: geen groep gemeenten zou samen goedkoper uit zijn zonder de rest."),
    },
    "coalitions": {
        "pays_eur": C("Betaalt onder de regel", "eur", "Wat de groep onder de regel samen betaalt."),
        "alone_eur": C("Alleen", "eur", "Wat de groep zonder de rest nodig zou hebben."),
        "excess_eur": C("Meer dan alleen", "eur", "Betaalt min alleen: positief blokkeert de groep de afspraak."),
        "excess_se_eur": C("Standaardfout", "eur", "De Monte-Carlo-onzekerheid van dat verschil."),
        "beyond_noise": C("Buiten de ruis", "bool", "Ja: het verschil is groter dan 2 standaardfouten."),
    },
    "contracts": {
        "form": C("Vorm", "text", "inspanning, output, taak, corridor of plafond."),
        "variant": C("Variant", "text", "Onderscheidt opties van dezelfde vorm (plafondniveau, band, aangeboden som)."),
        "premium_paid_eur": C("Betaalde premie", "eur", "Wat de aanbieder vraagt voor het risico dat hij overneemt."),
        "plafond_eur": C("Plafond", "eur", "Het plafond voor het gebied (alleen niet-wettelijke percelen)."),
        "expected_waiting_list_eur": C("Verwachte wachtlijst", "eur", "Zorg boven het plafond die wacht, gemiddeld per jaar."),
    },
    "frontier": {},
    "frontier_gemeenten": {},
    "out_of_sample": {
        "expected_pay_se_eur": C("Standaardfout betaling", "eur", "De Monte-Carlo-onzekerheid van de verwachte betaling."),
        "reserve_se_eur": C("Standaardfout reserve", "eur", "De Monte-Carlo-onzekerheid van de reserve."),
        "objective_eur": C("Doelwaarde", "eur", "Verwachte betaling + kapitaalkosten × reserve."),
        "objective_se_eur": C("Standaardfout doelwaarde", "eur", "De Monte-Carlo-onzekerheid van de doelwaarde."),
    },
    "gemeenten_today_vs_chosen": {
        "expected_pay_today_eur": C("Verwachte betaling nu", "eur", "Onder de huidige contractvormen."),
        "reserve_today_eur": C("Reserve nu", "eur", "De benodigde reserve onder de huidige contractvormen."),
        "expected_pay_chosen_eur": C("Verwachte betaling gekozen", "eur", "Onder de gekozen contractvormen."),
        "reserve_chosen_eur": C("Reserve gekozen", "eur", "De benodigde reserve onder de gekozen contractvormen."),
    },
    "reserve_path": {
        "opening_eur": C("Beginstand", "eur", "De reserve sociaal domein aan het begin van het jaar."),
        "onttrekking_eur": C("Onttrekking", "eur", "Wat uit de reserve wordt gehaald om het tekort te dekken (tot de ondergrens)."),
        "algemene_middelen_eur": C("Algemene middelen", "eur", "Het deel van het tekort dat de reserve niet draagt."),
        "dotatie_eur": C("Dotatie", "eur", "Wat aan de reserve wordt toegevoegd uit een overschot."),
        "closing_eur": C("Eindstand", "eur", "De reserve aan het eind van het jaar."),
        "floor_eur": C("Ondergrens", "eur", "De ondergrens die de raad voor de reserve stelt."),
    },
    "meerjarenraming": {
        "taakveld": C("Taakveld", "text", "Het Iv3-taakveld waarop de lasten worden geboekt."),
        "taakveld_label": C("Taakveld (naam)", "text", "De naam van het Iv3-taakveld."),
    },
}

BY_TABLE["reserve"] = BY_TABLE["replan_reserve_path"] = BY_TABLE["reserve_path"]
BY_TABLE["replan_meerjarenraming"] = BY_TABLE["meerjarenraming"]
BY_TABLE.update(
    {
        "exhaustion": {
            "p_exhausted": C("Kans reserve op", "share", "De kans dat de reserve in dit jaar tot de ondergrens opraakt."),
            "p_exhausted_se": C("Standaardfout kans", "share", "De Monte-Carlo-onzekerheid van die kans."),
            "expected_tekort_eur": C("Verwacht tekort", "eur", "Het gemiddelde tekort van het jaar over de paden."),
            "expected_closing_eur": C("Verwachte eindstand", "eur", "De gemiddelde reserve aan het eind van het jaar."),
            "closing_p05_eur": C("Eindstand (5% slechtst)", "eur", "De eindstand die in 95% van de paden wordt gehaald."),
        },
        "reserve_needed": {
            "opening_eur": C("Beginstand", "eur", "De reserve sociaal domein aan het begin van de horizon."),
            "floor_eur": C("Ondergrens", "eur", "De ondergrens die de raad voor de reserve stelt."),
            "p_exhausted_any_year": C("Kans ooit op", "share", "De kans dat de reserve in enig jaar van de horizon opraakt."),
            "p_exhausted_any_year_se": C("Standaardfout", "share", "De Monte-Carlo-onzekerheid van die kans."),
            "level": C("Gevraagde zekerheid", "share", "De kans dat de reserve niet opraakt waarvoor de beginstand is berekend."),
            "needed_opening_eur": C("Benodigde beginstand", "eur", "De beginstand waarmee de reserve met die zekerheid niet opraakt."),
        },
        "realised": {
            "own_cost_eur": C("Eigen kosten", "eur", "De werkelijke kosten van de niet-gepoolde percelen."),
            "pool_charges_eur": C("Bijdragen pools", "eur", "De bijdragen aan de pools op de werkelijke kosten."),
            "taken_at_plan_eur": C("Volgens plan genomen", "eur", "Niet-wettelijke zorg tot het plan (daarboven wacht zij)."),
        },
        "changes": {
            "tekort_before_eur": C("Tekort vóór", "eur", "Het tekort in het plan vóór het afsluiten van het jaar."),
            "tekort_after_eur": C("Tekort na", "eur", "Het tekort in het nieuwe plan."),
            "closing_before_eur": C("Eindstand vóór", "eur", "De eindstand van de reserve in het oude plan."),
            "closing_after_eur": C("Eindstand na", "eur", "De eindstand van de reserve in het nieuwe plan."),
            "tekort_change_eur": C("Verandering tekort", "eur", "Na min vóór."),
            "closing_change_eur": C("Verandering eindstand", "eur", "Na min vóór."),
        },
        "key_weight": {
            "w_own_optimal": C(
                "Gewicht eigen gebruik (optimaal)", "share", "Het gewicht van het eigen gebruik dat de totale reserve minimaliseert."
            ),
            "w_own_instance": C("Gewicht eigen gebruik (afspraak)", "share", "Het gewicht in de afgesproken regel."),
            "required_alone_eur": C("Reserve alleen", "eur", "De reserve die de gemeente zonder verevening nodig heeft."),
            "required_instance_weight_eur": C("Reserve bij afspraak", "eur", "De reserve bij het afgesproken gewicht."),
            "required_optimal_weight_eur": C("Reserve bij optimum", "eur", "De reserve bij het optimale gewicht."),
            "core_w_own_from": C("Kern vanaf", "share", "Het kleinste gewicht waarbij de verdeling in de kern ligt."),
            "core_w_own_to": C("Kern tot", "share", "Het grootste gewicht waarbij de verdeling in de kern ligt."),
        },
        "sweep": {
            "status": C("Status", "text", "De uitkomst van de oplossing in dit punt (optimal, infeasible ...)."),
            "highs_seconds": C("HiGHS-tijd (s)", "ratio", "De rekentijd van HiGHS voor dit punt."),
            "wall_seconds": C("Tijd (s)", "ratio", "De totale tijd voor dit punt."),
            "unmet_eur": C("Niet gefinancierd", "eur", "Niet-wettelijke behoefte zonder budget."),
        },
    }
)

#: columns named after a rule, pool, stage or parameter
PATTERNS: list[tuple[str, re.Pattern, Column]] = [
    ("comparison", re.compile(r"(?P<name>.+)_eur$"), C("Bijdrage onder {name}", "eur", "De bijdrage van de gemeente onder regel {name}.")),
    (
        "sweep",
        re.compile(r"objective_(?P<name>.+)$"),
        C("Doel {name}", "eur", "De waarde van fase {name} van de doelstelling in dit punt."),
    ),
    ("sweep", re.compile(r"(?P<name>[a-z_]+:.+)$"), C("{name}", "ratio", "De waarde van parameter {name} in dit punt (sweep --param).")),
]


def describe(table: str, column: str) -> Column | None:
    """The column's header, unit and description; None when it is not described (a test fails)."""
    own = BY_TABLE.get(table, {})
    if column in own:
        return own[column]
    if column in COMMON:
        return COMMON[column]
    for t, pattern, col in PATTERNS:
        m = pattern.match(column)
        if t == table and m:
            return Column(col.nl.format(**m.groupdict()), col.unit, col.description.format(**m.groupdict()))
    return None


def header(table: str, column: str, lang: str = "nl") -> str:
    """What a person reads above the column: the Dutch header, or the stable name in English."""
    c = describe(table, column)
    return c.nl if (c and lang == "nl") else column
