"""Regenerate the binary files of the bundled sample corpus (DOCX and PDF).

The text formats of the sample (Markdown, HTML, text) are committed as written; this
script only exists so that the two binary files can be rebuilt and reviewed.
Run: .venv/bin/python scripts/make_sample_corpus.py
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from fpdf import FPDF

SAMPLE = Path(__file__).resolve().parent.parent / "src" / "petitrag" / "sample"

SOLAR_PAGES = [
    (
        "Rooftop Solar Panels: Owner's Handbook",
        [
            "This handbook covers the day-to-day care of a 6 kW rooftop photovoltaic system "
            "made of 15 panels of 400 W and one string inverter.",
            "Under good conditions the system produces about 7,200 kWh per year in northern "
            "France and about 9,000 kWh per year on the Mediterranean coast.",
        ],
    ),
    (
        "Cleaning and inspection",
        [
            "Rain cleans tilted panels well enough in most places. Where dust or pollen builds "
            "up, rinse the panels with soft water twice a year, early in the morning, never "
            "with a high-pressure washer, which can break the seals.",
            "Dirty panels lose 5 to 15 percent of their output. Inspect the mounting rails and "
            "cables once a year, ideally after winter storms.",
        ],
    ),
    (
        "Inverter and warranty",
        [
            "The inverter usually needs replacing after 10 to 15 years, while the panels carry "
            "a 25-year performance warranty guaranteeing at least 80 percent of their rated "
            "power.",
            "If the inverter shows a red light or an error code, switch off the AC breaker "
            "first, then the DC isolator, and call the installer.",
        ],
    ),
]


def make_pdf(path: Path) -> None:
    pdf = FPDF()
    pdf.set_title(SOLAR_PAGES[0][0])
    for heading, paragraphs in SOLAR_PAGES:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(0, 10, heading)
        pdf.ln(4)
        pdf.set_font("Helvetica", size=11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph)
            pdf.ln(4)
    pdf.output(str(path))


def make_docx(path: Path) -> None:
    doc = Document()
    doc.core_properties.title = "Politique de télétravail"
    doc.add_heading("Politique de télétravail", level=1)
    doc.add_paragraph(
        "Cette politique s'applique à tous les salariés en contrat à durée indéterminée "
        "ayant terminé leur période d'essai."
    )
    doc.add_heading("Jours de télétravail", level=2)
    doc.add_paragraph(
        "Chaque salarié peut télétravailler jusqu'à deux jours par semaine, choisis avec son "
        "responsable. Le mardi est un jour de présence obligatoire pour toute l'équipe."
    )
    doc.add_heading("Équipement et indemnité", level=2)
    doc.add_paragraph(
        "L'entreprise fournit un ordinateur portable et un écran. Une indemnité forfaitaire de "
        "30 euros par mois couvre les frais de connexion et d'électricité."
    )
    for item in ("Un ordinateur portable", "Un écran de 24 pouces", "Un casque avec micro"):
        doc.add_paragraph(item, style="List Bullet")
    table = doc.add_table(rows=3, cols=2)
    rows = [("Statut", "Jours par semaine"), ("Cadre", "2"), ("Alternant", "1")]
    for row, (who, days) in zip(table.rows, rows, strict=True):
        row.cells[0].text, row.cells[1].text = who, days
    doc.save(str(path))


if __name__ == "__main__":
    make_pdf(SAMPLE / "solar-panels.pdf")
    make_docx(SAMPLE / "politique-teletravail.docx")
    print("wrote", SAMPLE / "solar-panels.pdf", SAMPLE / "politique-teletravail.docx")
