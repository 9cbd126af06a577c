"""Multicentre randomised trials: randomisation, analysis, monitoring (core).

The science of a trial, on data: allocation methods, group-sequential
boundaries, blinding indices and the primary analysis. It never imports the
registry or the application layer; the trial engine in :mod:`plptms.workflow`
stores every allocation, visit and event as an audited registry record.
"""
