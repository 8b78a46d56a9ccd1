// The model catalogue says what ARCHITECTURE.md §3's table says.
import { describe, expect, it } from 'vitest';
import { C2_MODEL, C_MODEL, M_MODEL, MODELS, R_MODEL } from '../../firmware-sim/models.js';

describe('model catalogue', () => {
  it('has every model under its own id', () => {
    for (const [id, model] of Object.entries(MODELS)) {
      expect(model.id).toBe(id);
      expect(model.power.length).toBeGreaterThan(0);
      expect(model.inputs).toContain('ble');
    }
  });

  it('the R needs constant power, has door and REX sensors, and both relay wirings', () => {
    expect(MODELS.R).toBe(R_MODEL);
    expect(R_MODEL.power).toEqual(['wired']);
    expect(R_MODEL.inputs).toEqual(['ble', 'keypad', 'door-sensor', 'rex']);
    expect(R_MODEL.wirings).toEqual(['fail-safe', 'fail-secure']);
    expect(R_MODEL.vendorName).toBe('R2');
  });

  it('only the M can be wired with a battery backup (gen 2); C and C2 are battery only', () => {
    expect(MODELS.M.power).toEqual(['battery', 'wired-with-battery-backup']);
    expect(MODELS.C.power).toEqual(['battery']);
    expect(MODELS.C2.power).toEqual(['battery']);
    expect(MODELS.hub.inputs).toContain('network');
  });

  it('the battery locks document their pack, with critical below low, and only the C2 has Qi', () => {
    expect([MODELS.M, MODELS.C, MODELS.C2]).toEqual([M_MODEL, C_MODEL, C2_MODEL]);
    for (const spec of [M_MODEL, C_MODEL, C2_MODEL]) {
      const { battery } = spec;
      expect(battery.capacityUah).toBeGreaterThan(0);
      expect(0 < battery.criticalPercent && battery.criticalPercent < battery.lowPercent).toBe(
        true,
      );
      expect(battery.lowPercent).toBeLessThan(100);
      expect(spec.qiJumpStart).toBe(spec.id === 'C2');
    }
  });
});
