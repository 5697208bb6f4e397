"""Taktflow: BPMN-driven ERP + MES process platform."""

__version__ = "0.1.0"
