-- Labels store their colour's palette name (labels.PALETTE), not its hex:
-- the palette may change its shades and every label follows. The hex values
-- of the palette until now become their names; any other value was shown
-- grey, and stays grey.
UPDATE labels SET color = CASE upper(color)
    WHEN '#E53935' THEN 'Red' WHEN '#FB8C00' THEN 'Orange' WHEN '#FDD835' THEN 'Yellow'
    WHEN '#43A047' THEN 'Green' WHEN '#00897B' THEN 'Teal' WHEN '#1E88E5' THEN 'Blue'
    WHEN '#3949AB' THEN 'Indigo' WHEN '#8E24AA' THEN 'Purple' WHEN '#D81B60' THEN 'Pink'
    WHEN '#6D4C41' THEN 'Brown' ELSE 'Grey' END;
