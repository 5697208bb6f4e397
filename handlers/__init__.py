"""Service-task handlers of the ERP, MES and device slices; importing this registers them."""
